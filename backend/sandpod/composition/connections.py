"""Connect one technology each, registering its close on the role's exit stack.

Adapters are imported inside each function, so a process loads only the clients of what it uses.
"""

from contextlib import AsyncExitStack
from typing import TYPE_CHECKING

from sandpod.composition.errors import StartupError
from sandpod.config import RunnerKind, Settings
from sandpod.observability import InstrumentedSandbox, watch_warm_pool
from sandpod.ports import OutputFileStore, Sandbox

if TYPE_CHECKING:
    from sandpod.adapters.kafka import KafkaEventBus
    from sandpod.adapters.mongo import MongoExecutionStore, MongoStores
    from sandpod.adapters.redis import RedisAdapters


async def mongo_store(settings: Settings, stack: AsyncExitStack) -> "MongoExecutionStore":
    from sandpod.adapters.mongo import connect_mongo

    store = await connect_mongo(settings.mongo)
    stack.push_async_callback(store.close)
    return store


async def mongo_stores(settings: Settings, stack: AsyncExitStack) -> "MongoStores":
    """Executions and users over one client (the API's)."""
    from sandpod.adapters.mongo import connect_stores

    stores = await connect_stores(settings.mongo)
    stack.push_async_callback(stores.close)
    return stores


def output_files(settings: Settings, stack: AsyncExitStack) -> "OutputFileStore":
    """MongoDB's output file store, connecting on first use (the pod monitor starts without it)."""
    from sandpod.adapters.mongo import output_files_store

    files, client = output_files_store(settings.mongo)
    stack.push_async_callback(client.close)
    return files


async def redis(settings: Settings, stack: AsyncExitStack) -> "RedisAdapters":
    from sandpod.adapters.redis import connect_redis

    adapters = await connect_redis(settings.redis, output=settings.output)
    stack.push_async_callback(adapters.close)
    return adapters


async def kafka(settings: Settings, stack: AsyncExitStack) -> "KafkaEventBus":
    from sandpod.adapters.kafka import connect_kafka

    bus = await connect_kafka(settings)
    stack.push_async_callback(bus.close)
    return bus


def local_sandbox(settings: Settings) -> Sandbox:
    """The local runner, instrumented; StartupError naming what this host lacks."""
    from sandpod.adapters.sandbox import build_local_runner

    try:
        runner = build_local_runner(
            settings.local_runner, limit_policy=settings.executions.limit_policy
        )
        watch_warm_pool(lambda: (runner.warm_idle, runner.warm_claims))
        return InstrumentedSandbox(runner)
    except (OSError, RuntimeError) as error:
        raise StartupError(str(error)) from error


async def worker_sandbox(settings: Settings, stack: AsyncExitStack) -> Sandbox:
    """The runner worker's sandbox: the local runner or one Kubernetes pod per execution."""
    if settings.runner is RunnerKind.KUBERNETES:
        from sandpod.adapters.kubernetes import build_kubernetes_launcher

        launcher = build_kubernetes_launcher(settings)
        stack.push_async_callback(launcher.close)
        await launcher.prepare()
        return InstrumentedSandbox(launcher)
    runner = local_sandbox(settings)
    stack.push_async_callback(runner.close)
    return runner
