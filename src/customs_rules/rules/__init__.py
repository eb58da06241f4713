"""Rules: the rule model (`model`), read from YAML with located errors (`loader`,
`yamlfile`), checked apart from parsing (`validators`), the reference lists kept beside
the rules (`reference`) and the decision policy (`policy`)."""
