"""The per-declaration engine, the reference the set-at-a-time core is held to:
a declaration and the registry become facts (`enrichment`), facts are encoded for
durable-rules (`patterns`, `encoder`, within `limits`) and run by the compiled pack
(`compiler`), and `evaluation` turns what fired into findings with evidence.
`examples` runs the rules' embedded examples (`rules test`)."""
