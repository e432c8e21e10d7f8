"""Trains a (very) small model on an uploaded CSV file and returns the
model as a file: the example of files in and artifacts out.

The "model" is the mean and spread of each numeric column, fitted in one
streaming pass, so that a CSV of gigabytes takes the memory of one row."""

import csv
import json
import math

import conveyor


def run_train(data: conveyor.File, job: conveyor.Job, target: str = "") -> dict:
    """Fits the mean and standard deviation of every numeric column of a CSV.

    Args:
        data: the CSV file, with a header row (upload it first).
        target: a column to name as the one to predict, if any.
    """
    stats = {}
    rows = 0
    with open(data.path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, [])
        for row in reader:
            rows += 1
            for name, value in zip(header, row):
                try:
                    x = float(value)
                except ValueError:
                    continue
                n, mean, m2 = stats.get(name, (0, 0.0, 0.0))
                n += 1
                d = x - mean
                mean += d / n
                stats[name] = (n, mean, m2 + d * (x - mean))
            if rows % 1000000 == 0:
                job.log("%d rows" % rows)
    model = {"rows": rows, "target": target or None, "columns": {
        name: {"mean": mean, "std": math.sqrt(m2 / n) if n else 0.0, "count": n} for name, (n, mean, m2) in stats.items()}}
    # The model file is an artifact: kept with the job, downloaded with
    # GET /v1/jobs/{id}/artifacts/model.json (conveyor download ID model.json).
    with job.artifact("model.json", "w") as out:
        json.dump(model, out, indent=2)
    return {"rows": rows, "columns": sorted(stats), "model": {"$artifact": "model.json"}}
