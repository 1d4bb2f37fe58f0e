"""Charts as PNG images: radar, trend and heat-map, from plain data (``data``) to bytes (``render``).

``data`` holds the input types and the alt texts and imports nothing but the domain, so any layer
above can build a chart's data cheaply; only ``render`` imports the plotting library, and only the
worker, the scheduler and the terminal tool import ``render`` (never the web process: a contract in
pyproject.toml and tests/test_charts.py keep it so).
"""
