"""The contract: what users hand in and choose from, as validated models.

- `models`: the declaration (pydantic v2), with `codes` (HS codes, countries,
  currencies) and `input_text` (what users write, made safe to compare and store);
- `registry_rows`: the registry's companies, people and watchlist rows;
- `facts`: the fact fields rules read, shared by the rules, the engine and the core;
- `choices`: the fixed sets of values (decisions, results, audit actions);
- `errors`: errors that carry a location.
"""
