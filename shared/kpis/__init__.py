"""KPI state (exact integer counters), KPI formulas, and the brute-force recomputation oracle."""
