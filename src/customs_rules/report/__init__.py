"""Reports: decisions as JSON Lines, CSV or tables (`tables`), the batch output files
(`outputs`) and the offline HTML report (`html`)."""
