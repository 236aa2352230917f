"""The workers layer's adapters over private library code (see infra.adapters)."""
