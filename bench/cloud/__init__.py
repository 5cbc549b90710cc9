"""The cloud-style scenarios (synthetic providers with fixed latencies, many concurrent calls): run.py runs them,
levels.py reads their figures, render.py writes their tables, chart.py draws the side-by-side chart."""
