"""Segmentation verifier engine: firewall rulesets in, verdicts and violations out.

Pure Python, no Django import (architecture rule 6): ``parsers/`` turn ruleset text into
:mod:`mamoru.netcheck.model` objects, :mod:`mamoru.netcheck.analysis` computes first-match
verdicts over packet space, :mod:`mamoru.netcheck.inventory` reads the zone inventory and
:mod:`mamoru.netcheck.report` judges the result against the zone policy.
"""
