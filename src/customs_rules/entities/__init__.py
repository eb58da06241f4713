"""Entities: the registry compiled at load and the set answers the screening core asks for.

- `persons`: the same-person rule (keys, ids, birth dates, names), shared with the
  per-declaration reference (`registry.RegistryLookup`, `links.py`);
- `compile`: name keys, address keys and the company edges computed at `registry load`;
- `compiled.CompiledRegistry`: the compiled snapshot as polars frames, with `resolve`,
  `watchlisted` and `links` for whole sets;
- `linking`: links of (exporter, consignee) pairs, looked up in sorted integer codes of the
  person pairs and steps built once per registry.
"""
