"""The test tree mirrors the code it proves.

tests/kit       app/observability alone (copy it with the kit)
tests/app       the demo app on real Postgres and Redis
tests/configs   compose files, backend configs, dashboards, the Alloy pipeline
tests/alerting  Prometheus rule metadata, Alertmanager routing, the alert sink
tests/loadtest  the load shape and the time-to-fire report
tests/runner    the native compose runner (root)
tests/e2e       the whole stack running (scripts/e2e.sh)
tests/support   the one copy of every helper the folders above share
"""
