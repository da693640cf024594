#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_qp (tests/fuzz/corpus/). Deterministic: rerunning it
rewrites the same files. Byte layout (see decode() in fuzz_qp.cpp): flags (bit0 planted
feasible point, bit1 tiny H, bit2 huge g), mode (mode % 16 == 15: invalid input), n-1, p, m,
then rank / shift of H, L, z0, g, A, b, rows (kind, weight, slack, offset, values), the warm
perturbation and the sensitivity direction. Values are int8 / 32; missing bytes read as 0."""
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")

# (name, flags, mode, n, p, m, row-kind byte or None for random)
SEEDS = [
    ("box_2d", 1, 0, 2, 0, 4, 0),
    ("planted_dense", 1, 0, 5, 1, 8, None),
    ("equalities_only", 1, 0, 4, 3, 0, 0),
    ("unconstrained", 0, 0, 3, 0, 0, 0),
    ("duplicated_rows", 1, 0, 3, 0, 6, 1),
    ("parallel_scaled", 1, 0, 3, 1, 6, 2 | (6 << 2)),
    ("lb_eq_ub_pairs", 1, 0, 4, 0, 8, 3),
    ("tiny_h", 3, 0, 3, 1, 5, None),
    ("huge_g", 5, 0, 4, 0, 6, None),
    ("tiny_h_huge_g", 7, 0, 2, 0, 4, None),
    ("random_infeasible_maybe", 0, 0, 6, 2, 12, None),
    ("soft_heavy", 0, 0, 5, 0, 10, None),
    ("n8_full", 1, 0, 8, 3, 12, None),
    ("n1_many_rows", 1, 0, 1, 2, 12, None),
    ("invalid_h", 1, 15, 3, 1, 3, None),
    ("invalid_update", 1, 15, 3, 1, 3, None),
]


def seed_bytes(idx, flags, mode, n, p, m, kind):
    rng = random.Random(1000 + idx)
    out = bytearray([flags, mode, n - 1, p, m])
    out += bytes([rng.randrange(256), 5])  # H: rank byte, shift index 5 (1.0)
    out += bytes(rng.randrange(256) for _ in range(n * n + 2 * n + p * (n + 1)))
    for i in range(m):
        k = rng.randrange(256) if kind is None else kind
        soft = rng.randrange(256)
        if "soft" not in SEEDS[idx][0] and kind is not None:
            soft |= 1  # hard
        out += bytes([k, soft, rng.randrange(256), rng.randrange(256)])
        if i == 0 or k % 4 == 0:
            out += bytes(rng.randrange(256) for _ in range(n))
    out += bytes(rng.randrange(256) for _ in range(2 * n + 2 * m + p))
    if mode % 16 == 15:
        out += bytes([9 if "update" in SEEDS[idx][0] else 0, rng.randrange(256)])
    return bytes(out)


def main():
    os.makedirs(OUT, exist_ok=True)
    for idx, (name, flags, mode, n, p, m, kind) in enumerate(SEEDS):
        with open(os.path.join(OUT, f"seed_{idx:02d}_{name}"), "wb") as f:
            f.write(seed_bytes(idx, flags, mode, n, p, m, kind))


if __name__ == "__main__":
    main()
