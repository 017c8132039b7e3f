"""Deterministic demo data for ``manage.py seed_demo``.

Everything except the time anchor (``timezone.now()``) comes from one ``random.Random`` with a
fixed seed and fixed name lists, so two fresh databases get the same people, stages and scores.
The data is first planned in memory (a *blueprint* that never reads the database), then written
with "insert what is missing" keyed by stable natural keys (slugs, remote ids, usernames): a second
run creates nothing and says so. Every row is inserted complete, its historical timestamps
included, and never updated afterwards.

Contents: one user per role (plus a second recruiter), a live Greenhouse and a sandbox Lever
connection with stage mappings (two remote stages deliberately left unmapped), three role families
(pilot, live and draft plans), ten requisitions, about 300 candidates/applications across every
canonical stage, interviews in every status with results, competency scores, review tasks and
decisions, requisition access grants, writeback jobs with attempts, inbound webhook events,
retention policies and a legal hold. Audit events are left to the audit service.

Greenhouse stage ids differ per job, so its stages are mapped by name; Lever's stage list is
account-wide, so its stages are mapped by id.

Modules: ``data`` (fixed lists), ``blueprint`` (the planned rows as dataclasses), ``planner`` and
``ledger_planner`` (blueprint from the seed), ``store`` (insert-missing helper), ``writer`` and
``activity_writer`` (blueprint to rows).
"""
