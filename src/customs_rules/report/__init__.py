"""Reports: decisions as JSON Lines, CSV or tables (`tables`), the batch output files
(`outputs`) and the offline HTML report (`html`: its data in `aggregate`, its list of held
and inspected declarations in `flagged`; `html_parts` and `svg` are shared by HTML reports)."""
