"""Composition: settings in, one role's wired services out. Only entry points import this package.

One small builder per role, each connecting only what that role uses:

| role | module | connects |
| --- | --- | --- |
| api (distributed) | api.py | MongoDB (executions + users, one client), Redis, Kafka |
| runner | runner.py | MongoDB, Kafka, a sandbox (local runner or Kubernetes) |
| results | results.py | MongoDB, Redis, Kafka |
| pod-monitor | pod_monitor.py | Kafka, Kubernetes |
| webhooks | webhooks.py | MongoDB (executions + users, one client), Kafka, outbound HTTP |
| embedded | embedded.py | nothing: in-process adapters, the local runner |
"""
