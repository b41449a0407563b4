"""Metrics as a monitoring system sees them: series scraped from a run's records, exported as OpenMetrics.

* :mod:`.spec` — the scenario's ``monitoring:`` section (pure data, read when a scenario loads);
* :mod:`.series` — the families and series a scrape yields (names, types, units, labels);
* :mod:`.scrape` — the scrape itself, an observer after the run (:func:`~.scrape.scrape`);
* :mod:`.openmetrics` — the OpenMetrics text of a scrape, and one scrape as Prometheus text.

Nothing here runs during a simulation: a scenario without ``monitoring:`` runs exactly as
before, and one with it runs the same way; the series are computed from the records afterwards.
This module imports nothing, so loading a scenario stays free of numpy and pandas.
"""
