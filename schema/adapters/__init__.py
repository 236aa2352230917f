"""The API layer's adapters over private library code (see infra.adapters)."""
