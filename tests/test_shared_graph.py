"""The link graph a batch's workers map (issue #13, item 7): built once by the parent at
the policy's name threshold (`batch_pool.share_graph`), it is the graph each worker
built for itself, and gives the same links."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import polars as pl
from conftest import load_fixture_registry
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_links_graph import dense_registries

from customs_rules.entities.compiled import CompiledRegistry
from customs_rules.entities.linking import Graph, links, registry_graph
from customs_rules.store.snapshot_files import mapped_frames
from customs_rules.workflow.batch_pool import mapped_graph, share_graph, shared_snapshot, write_graph


def _all_pairs(registry: CompiledRegistry) -> pl.DataFrame:
    keys = registry.companies.get_column("key").to_list()
    pairs = [(a, c, depth) for a in keys for c in keys for depth in (1, 2, 3)]
    return pl.DataFrame(pairs, schema=["exporter_key", "consignee_key", "depth"], orient="row")


def test_workers_map_the_graph_each_would_build(sqlite_url: str) -> None:
    load_fixture_registry(sqlite_url)
    with shared_snapshot(sqlite_url) as shared_copy:
        assert shared_copy is not None
        directory = shared_copy[0]
        assert mapped_graph(directory, 0.85) is None  # none shared yet: a worker builds its own
        for threshold in (0.85, 0.6):  # the person pairs that are one person depend on it
            share_graph(directory, threshold)
            shared = mapped_graph(directory, threshold)
            assert shared is not None
            built = Graph(CompiledRegistry(mapped_frames(Path(directory)), [], threshold))
            assert list(shared) == sorted(built.frames())
            for name, frame in built.frames().items():
                assert shared[name].schema == frame.schema and shared[name].equals(frame), name
            fresh = CompiledRegistry(mapped_frames(Path(directory)), [], threshold)
            mapped = CompiledRegistry(mapped_frames(Path(directory)), [], threshold)
            assert registry_graph(mapped, shared).persons.equals(built.persons)
            pairs = _all_pairs(fresh)
            found = links(mapped, pairs)
            assert found.equals(links(fresh, pairs))
            assert found.get_column("linked").any() and found.get_column("link_path_length").is_not_null().any()
        assert mapped_graph(directory, 0.7) is None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=dense_registries(), threshold=st.sampled_from([0.6, 0.85]))
def test_a_mapped_graph_links_as_a_built_one(data: Any, threshold: float) -> None:
    """Dense random registries (person, role and address steps): a graph written and
    mapped back links every pair at every depth as the graph built in place."""
    companies, people = data
    built = CompiledRegistry.from_records(companies, people, [], threshold)
    with tempfile.TemporaryDirectory() as directory:
        write_graph(directory, Graph(built))
        frames = mapped_graph(directory, threshold)
        assert frames is not None
        mapped = CompiledRegistry.from_records(companies, people, [], threshold)
        registry_graph(mapped, frames)
        pairs = _all_pairs(built)
        assert links(mapped, pairs).equals(links(built, pairs))
