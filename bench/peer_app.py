"""The reference peer: scim2-server (in-memory SCIM server) under waitress.

    python bench/peer_app.py --port 8002 --threads 8 --users 100000 --groups 10,10000,100000

Built as the ``scim2-server`` command builds it (default RFC 7643 schemas, resource types
and service provider configuration, bearer token from ``BENCH_PEER_TOKEN``), then seeded
in this process through the storage's own ``create`` (scim2-server has no bulk load over
HTTP; this is its fastest path) with the same ids and userNames as Willow's seed, and
served by waitress with Willow's thread count. Run as a file, by whatever interpreter has
scim2-server installed: it imports neither Willow nor the bench package.
"""

from __future__ import annotations

import argparse
import os
import time
import uuid

import waitress
from scim2_models import ScimProvider
from scim2_server.memory import InMemoryStorage
from scim2_server.service import ScimService
from scim2_server.testserver.application import BEARER_TOKEN_SCHEME
from scim2_server.testserver.application import BearerTokenApplication
from scim2_server.utils import load_default_resource_types
from scim2_server.utils import load_default_schemas
from scim2_server.utils import load_default_service_provider_config

# The seed's ids and names (bench/operations.py); repeated because this file runs alone.
USER_DOMAIN = "bench.example.com"


def user_id(index: int) -> str:
    return f"b0000000-0000-4000-8000-{index:012d}"


def user_name(index: int) -> str:
    return f"user{index:07d}@{USER_DOMAIN}"


def group_id(size: int) -> str:
    return f"b1000000-0000-4000-8000-{size:012d}"


class SeededStorage(InMemoryStorage):
    """Keeps the id a seeded resource comes with; new resources get a random one."""

    def generate_id(self, resource_type, resource) -> str:
        return resource.id or uuid.uuid4().hex


def build(token: str) -> tuple[BearerTokenApplication, ScimService, SeededStorage]:
    config = load_default_service_provider_config()
    config.authentication_schemes = [*(config.authentication_schemes or []), BEARER_TOKEN_SCHEME]
    provider = ScimProvider.from_discovery(
        load_default_schemas().values(), load_default_resource_types().values(), config=config
    )
    service = ScimService(provider, secret=os.urandom(16).hex())
    storage = SeededStorage()
    app = BearerTokenApplication(storage, provider, service=service, bearer_tokens=[token])
    return app, service, storage


def seed(service: ScimService, storage: SeededStorage, users: int, spare: int,
         groups: list[int]) -> None:
    types = {rt.name: rt for rt in service.provider.resource_types}
    user_type, group_type = types["User"], types["Group"]
    user_model = service.get_model(user_type)
    group_model = service.get_model(group_type)
    for i in range(users + spare):
        name = user_name(i)
        storage.create(user_type, user_model.model_validate({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": user_id(i),
            "userName": name,
            "externalId": f"00u{i:017d}",
            "name": {"givenName": "Bench", "familyName": f"User {i}"},
            "displayName": f"Bench User {i}",
            "emails": [{"value": name, "type": "work", "primary": True}],
            "active": True,
        }))
    for size in groups:
        storage.create(group_type, group_model.model_validate({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "id": group_id(size),
            "displayName": f"Bench {size} members",
            "members": [{"value": user_id(i), "type": "User"} for i in range(min(size, users))],
        }))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--spare", type=int, default=100)
    parser.add_argument("--groups", default="10")
    args = parser.parse_args()
    app, service, storage = build(os.environ.get("BENCH_PEER_TOKEN", "peer-token"))
    started = time.perf_counter()
    seed(service, storage, args.users, args.spare, [int(g) for g in args.groups.split(",") if g])
    print(f"seeded {args.users + args.spare} users in {time.perf_counter() - started:.1f} s",
          flush=True)
    waitress.serve(app, host="127.0.0.1", port=args.port, threads=args.threads)


if __name__ == "__main__":
    main()
