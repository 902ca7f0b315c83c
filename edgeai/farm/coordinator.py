"""Holding the places a labgrid role uses behind a coordinator (its `RemotePlace` resources) for one run.

labgrid's RemotePlace resource only expands into the place's resources (serial port, power port, ...) once the
place is acquired by this user on this host, so edgeai acquires it before the role's target is made and
releases it when the run ends, as `labgrid-client -p NAME acquire` / `release` would. The client is labgrid's
own: its ClientSession (labgrid.remote.client) and the coordinator's gRPC calls it makes for acquire/release.

A place the user already holds (`labgrid-client acquire` before edgeai, or one `labgrid-client allow`ed to
this host/user) is used as it is and left acquired: its holder releases it. The session is the one labgrid's
RemotePlaceManager uses to expand the place, so both see one view of the coordinator.
"""

from __future__ import annotations

import os

from edgeai.errors import PlaceUnavailable, RuntimeFailure

# gRPC's fork support restarts its poller thread in a forked child; a child that then closes its inherited file
# descriptors before exec (subprocess does) makes that poller fail on EBADF and abort the child. edgeai forks
# compilers and emulators after a run on a place, with the session still open: no fork handlers (read by gRPC
# when it starts, so before labgrid's client is imported).
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

DEFAULT_COORDINATOR = "127.0.0.1:20408"  # labgrid's default, as its RemotePlaceManager picks it


def remote_place_names(role_config: dict) -> list[str]:
    """The names of the RemotePlace resources a role's config lists (labgrid's own normalisation of it)."""
    from labgrid.factory import target_factory

    resources, _ = target_factory.normalize_config(role_config or {})
    return [str(name) for name in resources.get("RemotePlace", {})]  # keyed by the resource's name: the place


def coordinator_address(env) -> str:
    """Where labgrid itself looks: the environment's `coordinator_address` option, else $LG_COORDINATOR."""
    return env.config.get_option("coordinator_address", os.environ.get("LG_COORDINATOR", DEFAULT_COORDINATOR))


def _session(env, address: str, what: str):
    """labgrid's client session to the coordinator, shared with its RemotePlaceManager (one per process)."""
    from labgrid.remote.client import start_session
    from labgrid.resource.remote import RemotePlaceManager

    manager = RemotePlaceManager.get()
    if manager.session is not None and manager.url != address:
        raise PlaceUnavailable(f"{what}: this process already works with the labgrid coordinator at {manager.url}; "
                               f"labgrid's RemotePlace takes one coordinator per process, not also {address}")
    if manager.session is None:
        try:
            session = start_session(address, extra={"env": env})
        except Exception as e:  # refused, unresolvable, a coordinator of another protocol: labgrid's words
            raise PlaceUnavailable(f"{what}: the labgrid coordinator at {address} cannot be reached ({e}); "
                                   f"labgrid takes its address from the environment's "
                                   f"'options: {{coordinator_address: HOST:PORT}}' or $LG_COORDINATOR") from None
        # What labgrid-client does before it makes a target of a place: the manager expands RemotePlace
        # resources through this session instead of opening its own.
        manager.session, manager.loop, manager.url, manager.env = session, session.loop, address, env
    return manager.session


class PlaceHold:
    """The coordinator's places one role uses, acquired by this process (or already held by its user)."""

    def __init__(self, env, names: list[str], what: str):
        self.what, self.names = what, list(names)
        self.address = coordinator_address(env)
        self.session = _session(env, self.address, what)
        self.me = f"{self.session.gethostname()}/{self.session.getuser()}"
        self.acquired: list[str] = []  # the places this hold acquired, so it releases them (and only them)
        try:
            for name in self.names:
                self._acquire(name)
        except BaseException:  # Ctrl-C between two places (or inside an acquire) still releases what we took
            self.release()
            raise

    def _run(self, call):
        return self.session.loop.run_until_complete(call)

    def _place(self, name: str):
        self._run(self.session.sync_with_coordinator())  # the coordinator's current view, not the last one seen
        place = self.session.places.get(name)
        if place is None:
            known = ", ".join(sorted(self.session.places)) or "none"
            raise PlaceUnavailable(f"{self.what}: the labgrid coordinator at {self.address} has no place "
                                   f"{name!r} (its places: {known}); a lab creates it with "
                                   f"'labgrid-client -p {name} create' and 'add-match'")
        return place

    def _acquire(self, name: str) -> None:
        from grpc.aio import AioRpcError
        from labgrid.remote.client import Error as ClientError
        from labgrid.remote.generated import labgrid_coordinator_pb2 as messages

        place = self._place(name)
        if place.acquired:
            if place.acquired == self.me or self.me in place.allowed:
                return  # the user's own hold: used as it is, released by whoever acquired it
            raise PlaceUnavailable(f"{self.what}: labgrid place {name!r} is acquired by {place.acquired} "
                                   f"(edgeai runs as {self.me}); wait for its release, or ask {place.acquired} "
                                   f"to 'labgrid-client -p {name} allow {self.me}'")
        try:
            self.session.check_matches(place)
        except ClientError as e:
            raise PlaceUnavailable(f"{self.what}: labgrid place {name!r}: {' '.join(map(str, e.args))} "
                                   f"(is its exporter running?)") from None
        self.acquired.append(name)  # before the call: a Ctrl-C during it may still have acquired the place
        try:
            self._run(self.session.stub.AcquirePlace(messages.AcquirePlaceRequest(placename=name)))
        except AioRpcError as e:  # taken between our look and our call, or one of its resources is in use
            holder = self._place(name).acquired
            raise PlaceUnavailable(f"{self.what}: labgrid place {name!r} cannot be acquired: {e.details()}"
                                   + (f" (acquired by {holder})" if holder and holder != self.me else "")) from None
        if self._place(name).acquired != self.me:
            raise PlaceUnavailable(f"{self.what}: the coordinator at {self.address} did not give labgrid place "
                                   f"{name!r} to {self.me}")

    def release(self) -> None:
        """Release the places this hold acquired (those still ours: a place kicked from us is left alone)."""
        from grpc.aio import AioRpcError
        from labgrid.remote.generated import labgrid_coordinator_pb2 as messages

        failed = []
        while self.acquired:
            name = self.acquired.pop()
            try:
                self._run(self.session.sync_with_coordinator())
                place = self.session.places.get(name)
                if place is not None and place.acquired == self.me:
                    self._run(self.session.stub.ReleasePlace(messages.ReleasePlaceRequest(placename=name)))
                    self._run(self.session.sync_with_coordinator())
            except AioRpcError as e:
                failed.append(f"{name!r}: {e.details()}")
        if failed:
            raise RuntimeFailure(f"{self.what}: releasing labgrid place {', '.join(failed)} failed; "
                                 f"release it with 'labgrid-client -p NAME release'")
