"""Metrics as a monitoring system sees them: series scraped from a run's records, exported as OpenMetrics.

* :mod:`.spec` — the scenario's ``monitoring:`` section (pure data, read when a scenario loads);
* :mod:`.series` — the families and series a scrape yields (names, types, units, labels);
* :mod:`.scrape` — the scrape itself, an observer after the run (:func:`~.scrape.scrape`);
* :mod:`.openmetrics` — the OpenMetrics text of a scrape, and one scrape as Prometheus text.

Alerting over the scrape (issue 17 item 2):

* :mod:`.rules` — alert rules of the section (``expr``, or the ``burn_rate`` shorthand) and
  the error-budget arithmetic; :mod:`.alerts_check` — what loading refuses in them;
* :mod:`.promql` — the PromQL subset's parser; :mod:`.evaluate` — its evaluation over a scrape;
* :mod:`.alerts` — evaluation at each ``evaluation_interval`` with Prometheus' pending,
  firing and resolved states, and the scores against the run's faults;
* :mod:`.rulefile` — the rules as a Prometheus rule file (``promtool check rules``).

Nothing here runs during a simulation: a scenario without ``monitoring:`` runs exactly as
before, and one with it runs the same way; the series are computed from the records afterwards.
This module imports nothing, so loading a scenario stays free of numpy and pandas (spec,
rules, promql and alerts_check are pure).
"""
