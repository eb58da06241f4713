"""Entities: names, addresses, identifiers, the registry and the links between companies.

- `names` (matching and keys) on `name_text` (normalise, legal forms, transliterate,
  tokens), with `legal_forms` and `transcription`; `name_search` finds candidates;
- `addresses` and `identifiers`: addresses reduced to a key, ids with check digits;
- `registry`: the per-declaration reference's look-ups (`RegistryIndex`), from the
  files read by `registry_csv` (row by row) or `registry_files` (by columns);
- `links`: the reference's link search; `persons`: the same-person rule and id
  normalisation, shared with the core;
- `compile`: name keys, address keys and the company edges computed at `registry load`;
- `compiled.CompiledRegistry`: the compiled snapshot as polars frames, with `resolve`,
  `watchlisted` and `links` for whole sets (`reach`, `person_pairs`);
- `linking`: links of (exporter, consignee) pairs, looked up in sorted integer codes of the
  person pairs and steps built once per registry.
"""
