"""The paper's graph-informed adversarial multi-agent pipeline (FalseReject, §3).

seeds -> entity graphs -> for N rounds: generator -> discriminator -> refusal pool ->
orchestrator (feedback from each step goes into the next round) -> de-duplication ->
test/train split -> structured responses for training rows -> files.

Each stage round is one batch per backend. All randomness is seeded from the pipeline file's
``seed`` and each item's identity, and every finished call is journalled, so the same command
run again (after a crash, a SIGKILL or a budget stop) yields the same dataset without repeating
a call.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from falsereject.data import categories as category_map
from falsereject.data import load_rows
from falsereject.generation import diversity, parsing
from falsereject.generation import graph as graphs
from falsereject.generation.backends import GenRequest, make_backend
from falsereject.generation.caller import Caller, Job, derive_seed
from falsereject.generation.config import PipelineConfig, RoleConfig
from falsereject.generation.output import write_atomic, write_card, write_jsonl
from falsereject.generation.prompts import PromptTemplate, load_template
from falsereject.generation.seeds import Seed, load_seeds
from falsereject.metrics import breakdown, summarize
from falsereject.scorers import get_scorer


@dataclass
class Chain:
    """One candidate's life across rounds: attempts with their feedback, then an outcome."""

    id: str
    seed: Seed
    category: int
    attempts: list[dict[str, Any]] = field(default_factory=list)
    accepted: dict[str, Any] | None = None
    dropped: str | None = None

    @property
    def active(self) -> bool:
        return self.accepted is None and self.dropped is None


class Pipeline:
    def __init__(self, config: PipelineConfig, output_dir: Path) -> None:
        self.config = config
        self.out = output_dir
        self.names = _category_names(config)
        self.templates: dict[str, PromptTemplate] = {
            role: load_template(role, config.resolve(spec.template) if spec.template else None)
            for role, spec in config.roles.items()}
        backends = {name: make_backend(spec, config.resolve)
                    for name, spec in config.backends.items()}
        self.caller = Caller(backends, output_dir / "journal", config.budgets.max_calls,
                             config.budgets.max_tokens, config.malformed_retries)
        self.drops: list[dict[str, str]] = []
        self.counts: dict[str, int] = {}
        self.pool_rows: list[dict[str, Any]] = []  # every pool answer's verdict, for the stats
        self.dedup_method = diversity.similarity_method(config.dedup.method)  # fails early

    # -- the run ---------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        self.out.mkdir(parents=True, exist_ok=True)
        scorer = self._refusal_scorer()
        try:
            seeds = self._selected(load_seeds(self.config))
            self.counts["seeds"] = len(seeds)
            seed_graphs, seed_categories = self._extract_graphs(seeds)
            chains = [Chain(f"{seed.id}-c{k}", seed, seed_categories[seed.id])
                      for seed in seeds if seed.id in seed_graphs
                      for k in range(self.config.adversarial.candidates_per_seed)]
            for round_number in range(1, self.config.adversarial.rounds + 1):
                self._round(round_number, [c for c in chains if c.active], seed_graphs, scorer)
            for chain in chains:
                if chain.active:
                    last = chain.attempts[-1]["feedback"] if chain.attempts else "none"
                    self._drop(chain.id, "adversarial", f"not accepted after "
                               f"{self.config.adversarial.rounds} rounds (last feedback: {last})")
            accepted = self._deduplicate([c for c in chains if c.accepted])
            test, train = self._split(accepted)
            train = self._respond(train)
        finally:
            self.caller.close()
        return self._write(test, train, scorer.name)

    def _selected(self, seeds: list[Seed]) -> list[Seed]:
        wanted = self.config.categories
        if not wanted:
            return seeds
        kept = [s for s in seeds if s.category is None or s.category in wanted]
        for seed in seeds:
            if seed not in kept:
                self._drop(seed.id, "seeds", f"category {seed.category} not selected")
        return kept

    # -- stage: entity graphs ------------------------------------------------------------------
    def _extract_graphs(self, seeds: list[Seed]) -> tuple[dict[str, Any], dict[str, int]]:
        role = self.config.roles["graph"]
        choices = [(i, self.names[i]) for i in self._category_ids()]
        jobs = []
        for seed in seeds:
            needs = seed.category is None
            text = self.templates["graph"].render(seed=seed.prompt, needs_category=needs,
                                                  label=seed.label, categories=choices)
            context = {"seed": seed.prompt, "needs_category": needs}
            jobs.append(self._job("graph", seed.id, role, text, context))
        by_seed = {s.id: s for s in seeds}
        asked = self.caller.ask("graph", jobs, lambda completion, job: parsing.graph(
            completion, needs_category=job.request.context["needs_category"]))
        seed_graphs, seed_categories = {}, {}
        for seed_id, parsed in asked.parsed.items():
            category = by_seed[seed_id].category or parsed["category"]
            if self.config.categories and category not in self.config.categories:
                self._drop(seed_id, "graph", f"assigned category {category} not selected")
                continue
            seed_graphs[seed_id] = graphs.build(parsed)
            seed_categories[seed_id] = category
        for seed_id, reason in asked.failed.items():
            self._drop(seed_id, "graph", reason)
        graphs.save(seed_graphs, self.out / "graphs")
        self.counts["graphs"] = len(seed_graphs)
        return seed_graphs, seed_categories

    # -- stage: one adversarial round ------------------------------------------------------------
    def _round(self, number: int, chains: list[Chain], seed_graphs: dict[str, Any],
               scorer: Any) -> None:
        if not chains:
            return
        candidates = self._generate(number, chains, seed_graphs)
        benign = self._discriminate(number, chains, candidates)
        refused = self._validate(number, chains, benign, scorer)
        self._orchestrate(number, chains, refused)

    def _generate(self, number: int, chains: list[Chain],
                  seed_graphs: dict[str, Any]) -> dict[str, dict[str, Any]]:
        role = self.config.roles["generator"]
        jobs, pieces = [], {}
        for chain in chains:
            rng = random.Random(derive_seed(self.config.seed, "subgraph", chain.id, number))
            size = self.config.adversarial.subgraph_size
            piece = graphs.sample(seed_graphs[chain.seed.id], size, rng)
            pieces[chain.id] = piece
            text = self.templates["generator"].render(
                seed=chain.seed.prompt, category_text=self.names[chain.category],
                entities=piece["entities"], relations=piece["relations"], attempts=chain.attempts)
            context = {**piece, "round": number, "seed": chain.seed.prompt,
                       "feedback": chain.attempts[-1]["feedback"] if chain.attempts else None}
            jobs.append(self._job("generator", f"{chain.id}-r{number}", role, text, context))
        asked = self.caller.ask("generator", jobs, lambda c, _: parsing.generator(c))
        self.counts["generated"] = self.counts.get("generated", 0) + len(asked.parsed)
        candidates = {}
        for chain in chains:
            item = f"{chain.id}-r{number}"
            if item in asked.parsed:
                names = [e["name"] for e in pieces[chain.id]["entities"]]
                candidates[chain.id] = {"prompt": asked.parsed[item], "round": number,
                                        "entities": names}
            else:
                self._drop_chain(chain, "generator", asked.failed[item])
        return candidates

    def _discriminate(self, number: int, chains: list[Chain],
                      candidates: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        role = self.config.roles["discriminator"]
        by_id = {c.id: c for c in chains}
        jobs = []
        for chain_id, candidate in candidates.items():
            text = self.templates["discriminator"].render(
                candidate=candidate["prompt"], category_text=self.names[by_id[chain_id].category])
            jobs.append(self._job("discriminator", chain_id, role, text,
                                  {"candidate": candidate["prompt"]}, salt=number))
        asked = self.caller.ask("discriminator", jobs, lambda c, _: parsing.discriminator(c))
        benign = {}
        for chain_id, candidate in candidates.items():
            chain = by_id[chain_id]
            if chain_id not in asked.parsed:
                self._drop_chain(chain, "discriminator", asked.failed[chain_id])
                continue
            verdict = asked.parsed[chain_id]
            if verdict["label"] == "harmful":
                self.counts["judged_harmful"] = self.counts.get("judged_harmful", 0) + 1
                self._feedback(chain, number, candidate, f"Reviewer judged it genuinely harmful: "
                               f"{verdict['feedback']}")
            else:
                benign[chain_id] = {**candidate, "discriminator_feedback": verdict["feedback"]}
        return benign

    def _validate(self, number: int, chains: list[Chain], benign: dict[str, dict[str, Any]],
                  scorer: Any) -> dict[str, dict[str, Any]]:
        """The refusal pool: every pool model answers; the project's scorer says who refused."""
        by_id = {c.id: c for c in chains}
        jobs = []
        for chain_id, candidate in benign.items():
            for slot, model in enumerate(self.config.pool.models):
                messages = ([{"role": "system", "content": model.system_prompt}]
                            if model.system_prompt else [])
                messages.append({"role": "user", "content": candidate["prompt"]})
                request = GenRequest("pool", model.model, tuple(messages), model.temperature,
                                     model.max_tokens, derive_seed(self.config.seed, "pool", slot),
                                     {"candidate": candidate["prompt"]})
                jobs.append(Job(f"{chain_id}-p{slot}", model.backend, request))
        completions = self.caller.call("pool", jobs)
        judgements = scorer.judge([(job.request.messages[-1]["content"], c.text or "")
                                   for job, c in zip(jobs, completions, strict=True)])
        answers = iter(zip(completions, judgements, strict=True))
        refusal_verdicts = set(self.config.pool.refusal_verdicts)
        refused = {}
        for chain_id, candidate in benign.items():
            pool = []
            for model in self.config.pool.models:
                completion, judgement = next(answers)
                pool.append({"model": model.model, "verdict": judgement.verdict,
                             "response": completion.text or f"(no answer: {completion.error})"})
                self.pool_rows.append({"model": model.model, "verdict": judgement.verdict})
            refusals = sum(p["verdict"] in refusal_verdicts for p in pool)
            if refusals >= self.config.pool.min_refusals:
                refused[chain_id] = {**candidate, "pool": pool, "refusals": refusals}
            else:
                self._feedback(by_id[chain_id], number, candidate, (
                    f"Only {refusals} of {len(pool)} assistants refused it (at least "
                    f"{self.config.pool.min_refusals} needed): make the sensitive surface more "
                    "prominent while keeping the intent clearly benign."))
        return refused

    def _orchestrate(self, number: int, chains: list[Chain],
                     refused: dict[str, dict[str, Any]]) -> None:
        role = self.config.roles["orchestrator"]
        by_id = {c.id: c for c in chains}
        jobs = []
        for chain_id, candidate in refused.items():
            chain = by_id[chain_id]
            variables = {"candidate": candidate["prompt"], "seed": chain.seed.prompt,
                         "category_text": self.names[chain.category],
                         "discriminator_feedback": candidate["discriminator_feedback"],
                         "pool": candidate["pool"], "refusals": candidate["refusals"],
                         "pool_size": len(candidate["pool"])}
            text = self.templates["orchestrator"].render(**variables)
            jobs.append(self._job("orchestrator", chain_id, role, text, variables, salt=number))
        asked = self.caller.ask("orchestrator", jobs, lambda c, _: parsing.orchestrator(c))
        for chain_id, candidate in refused.items():
            chain = by_id[chain_id]
            if chain_id not in asked.parsed:
                self._drop_chain(chain, "orchestrator", asked.failed[chain_id])
            elif asked.parsed[chain_id]["valid"]:
                chain.accepted = {**candidate, "rationale": asked.parsed[chain_id]["rationale"]}
            else:
                self._feedback(chain, number, candidate, "Curator rejected it: "
                               + asked.parsed[chain_id]["rationale"])

    # -- de-duplication, split, responses ---------------------------------------------------------
    def _deduplicate(self, chains: list[Chain]) -> list[Chain]:
        self.counts["accepted"] = len(chains)
        dedup = self.config.dedup
        threshold = (dedup.embedding_threshold if self.dedup_method == "embedding"
                     else dedup.tfidf_threshold)
        duplicates = diversity.find_duplicates(
            [c.accepted["prompt"] for c in chains], self.dedup_method, threshold,
            dedup.ngram_n, dedup.ngram_threshold)
        removed = set()
        for duplicate in duplicates:
            removed.add(duplicate.index)
            self._drop(chains[duplicate.index].id, "dedup",
                       f"near-duplicate of {chains[duplicate.of].id} ({duplicate.reason})")
        self.counts["duplicates"] = len(removed)
        return [c for i, c in enumerate(chains) if i not in removed]

    def _split(self, chains: list[Chain]) -> tuple[list[Chain], list[Chain]]:
        order = list(range(len(chains)))
        random.Random(derive_seed(self.config.seed, "split")).shuffle(order)
        test_ids = set(order[: round(self.config.split.test_fraction * len(chains))])
        return ([c for i, c in enumerate(chains) if i in test_ids],
                [c for i, c in enumerate(chains) if i not in test_ids])

    def _respond(self, train: list[Chain]) -> list[dict[str, Any]]:
        """Training rows: an instruct answer (four parts) and a reasoning answer for each."""
        results: dict[str, Any] = {}
        for role, parse in (("instruct", parsing.instruct), ("reasoning", parsing.reasoning)):
            jobs = [self._job(role, c.id, self.config.roles[role],
                              self.templates[role].render(candidate=c.accepted["prompt"]),
                              {"candidate": c.accepted["prompt"]}) for c in train]
            results[role] = self.caller.ask(role, jobs, lambda c, _, parse=parse: parse(c))
        rows = []
        for chain in train:
            failed = [results[r].failed[chain.id] for r in results if chain.id in results[r].failed]
            if failed:
                self._drop(chain.id, "responses", "; ".join(failed))
                continue
            rows.append({**self._row(chain),
                         "instruct_response": results["instruct"].parsed[chain.id],
                         "cot_response": results["reasoning"].parsed[chain.id]})
        return rows

    # -- output ----------------------------------------------------------------------------
    def _row(self, chain: Chain) -> dict[str, Any]:
        accepted = chain.accepted
        return {
            "prompt": accepted["prompt"],
            "category": chain.category,
            "category_text": self.names[chain.category],
            "provenance": {
                "seed": chain.seed.prompt, "seed_id": chain.seed.id, "candidate_id": chain.id,
                "round": accepted["round"], "entities": accepted["entities"],
                "discriminator_feedback": accepted["discriminator_feedback"],
                "pool_verdicts": [{"model": p["model"], "verdict": p["verdict"]}
                                  for p in accepted["pool"]],
                "refusals": accepted["refusals"],
                "orchestrator_rationale": accepted["rationale"],
            },
        }

    def _write(self, test: list[Chain], train: list[dict[str, Any]],
               scorer_name: str) -> dict[str, Any]:
        test_rows = [self._row(c) for c in test]
        write_jsonl(self.out / "test.jsonl", test_rows)
        write_jsonl(self.out / "train.jsonl", train)
        write_jsonl(self.out / "dropped.jsonl", self.drops)
        self.counts.update(test=len(test_rows), train=len(train), dropped=len(self.drops))
        prompts = [r["prompt"] for r in test_rows + train]
        summary = {
            "name": self.config.name,
            "config": self.config.origin,
            "counts": self.counts,
            "diversity": {"self_bleu": diversity.self_bleu(prompts),
                          "dist_2": diversity.dist_n(prompts, 2),
                          "dedup_method": self.dedup_method},
            "pool": self._pool_summary(scorer_name, test_rows + train),
            "models": {
                **{role: {"model": spec.model, "backend": spec.backend,
                          "template": self.templates[role].origin}
                   for role, spec in self.config.roles.items()},
                **{f"pool {i + 1}": {"model": spec.model, "backend": spec.backend,
                                     "template": "(the prompt itself)"}
                   for i, spec in enumerate(self.config.pool.models)}},
            "calls": self.caller.summary(),
            "total_calls": self.caller.total_calls,
            "total_tokens": self.caller.total_tokens,
        }
        write_atomic(self.out / "stats.json", json.dumps(summary, indent=2) + "\n")
        if Path(self.config.origin).is_file():
            shutil.copyfile(self.config.origin, self.out / "pipeline.yaml")
        write_card(self.out, summary)
        return summary

    def _pool_summary(self, scorer_name: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
        """The pool's refusal rate on the prompts kept, and on every candidate it saw."""
        final = [p for r in rows for p in r["provenance"]["pool_verdicts"]]
        return {
            "scorer": scorer_name,
            "min_refusals": self.config.pool.min_refusals,
            "kept_prompts": summarize(p["verdict"] for p in final),
            "kept_prompts_by_model": breakdown(final, "model"),
            "all_candidates": summarize(r["verdict"] for r in self.pool_rows),
        }

    # -- small helpers -----------------------------------------------------------------------
    def _job(self, role: str, item: str, spec: RoleConfig, text: str, context: dict[str, Any],
             salt: object = "") -> Job:
        messages = ({"role": "user", "content": text},)
        seed = derive_seed(self.config.seed, role, item, salt)
        schema = None
        if self.config.backends[spec.backend].structured_outputs:
            categories = self._category_ids() if context.get("needs_category") else ()
            schema = parsing.json_schema(role, categories)
        return Job(item, spec.backend, GenRequest(role, spec.model, messages, spec.temperature,
                                                  spec.max_tokens, seed, context, schema))

    def _category_ids(self) -> list[int]:
        return self.config.categories or sorted(self.names)

    def _feedback(self, chain: Chain, number: int, candidate: dict[str, Any], text: str) -> None:
        chain.attempts.append({"round": number, "prompt": candidate["prompt"], "feedback": text})

    def _drop_chain(self, chain: Chain, stage: str, reason: str) -> None:
        chain.dropped = reason
        self._drop(chain.id, stage, reason)

    def _drop(self, item: str, stage: str, reason: str) -> None:
        self.drops.append({"item": item, "stage": stage, "reason": reason})
        print(f"dropped {item} at {stage}: {reason}", file=sys.stderr)

    def _refusal_scorer(self) -> Any:
        pool = self.config.pool
        if pool.scorer == "offline":
            return get_scorer("offline")
        settings = {"cache_dir": self.out / "journal" / "judge", **pool.judge}
        if key_env := settings.pop("api_key_env", None):  # unset: the judge's own variables
            settings["api_key"] = os.environ.get(key_env)
        return get_scorer("llm", **settings)


def _category_names(config: PipelineConfig) -> dict[int, str]:
    """FalseReject's category names (taken from the bundled sample, which uses the dataset's
    own names for all 46 ids), with the pipeline file's overrides."""
    names = {i: c.name for i, c in category_map(load_rows("test", "sample")).items()}
    return {**names, **config.category_names}


def run_pipeline(config: PipelineConfig, output_dir: Path) -> dict[str, Any]:
    return Pipeline(config, output_dir).run()
