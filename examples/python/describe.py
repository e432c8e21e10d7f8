"""The middle stage of the number_facts pipeline: from the prime factors of
n, what its divisors say about it. The stages before and after it are Go
functions (examples/primes/facts.go); each stage is scaled on its own."""

from collections import Counter


def run_describe(n: int, factors: list) -> dict:
    """Counts the divisors of n and tells whether n is perfect, abundant or
    deficient (the sum of its proper divisors equals, exceeds or falls short
    of n).

    Args:
        n: the number.
        factors: its prime factors, with repeats.
    """
    divisors = [1]
    for p, k in Counter(factors).items():
        divisors = [d * p**e for d in divisors for e in range(k + 1)]
    proper = sum(divisors) - n
    kind = "perfect" if proper == n else "abundant" if proper > n else "deficient"
    return {"n": n, "factors": factors, "divisors": len(divisors), "kind": kind}
