"""The embedded default: moto's server in-process, a sample API deployed into it, live traffic."""
