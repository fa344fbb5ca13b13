"""The pure domain core: rules with no framework, database or network imports."""
