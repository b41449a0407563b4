"""Observers and what they keep: records of requests, spans, faults and tallies, and the Result.

Components emit records into a recorder (:mod:`.recorder` keeps everything,
:mod:`.streaming` aggregates as it goes); :class:`.result.Result` turns either into the
summary, tables and time series. Metrics never import the engine or the presentation.
"""
