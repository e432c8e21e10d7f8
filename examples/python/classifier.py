"""A text classifier served by a persistent worker: the model is fitted
once, when the worker imports this module, and then classifies batches.

It is a multinomial naive Bayes over words, fitted on the small labelled
corpus below (standard library only). A real worker would load its model
from a file here instead, e.g. from the path in $MODEL_PATH.
"""

import math
import re
from collections import Counter
from typing import List

import conveyor

TRAINING = {
    "sports": [
        "the team won the match in extra time",
        "a late goal decided the football final",
        "the striker scored twice and the keeper saved a penalty",
        "she won the tennis tournament in straight sets",
        "the runner broke the marathon record",
        "fans cheered as the team lifted the cup",
        "the coach praised the defence after the game",
        "he hit a home run in the ninth inning",
    ],
    "tech": [
        "the new phone has a faster chip and a better camera",
        "the update fixes a security bug in the browser",
        "developers released a new version of the compiler",
        "the startup trains machine learning models in the cloud",
        "the laptop battery lasts ten hours",
        "engineers moved the database to a cluster of servers",
        "the app crashes when the network is slow",
        "a new programming language promises memory safety",
    ],
    "food": [
        "slow cook the beans with garlic and tomatoes",
        "the bakery sells fresh bread and croissants every morning",
        "add salt pepper and olive oil to the salad",
        "the restaurant serves spicy noodles and dumplings",
        "bake the cake for forty minutes",
        "a bowl of soup with fresh herbs",
        "grill the fish and serve it with lemon",
        "the chef roasted vegetables with rosemary",
    ],
}

_WORD = re.compile(r"[a-z']+")


def _words(text):
    return _WORD.findall(text.lower())


class NaiveBayes:
    """Multinomial naive Bayes with add-one smoothing."""

    def __init__(self, corpus):
        self.labels = sorted(corpus)
        self.counts = {label: Counter(w for doc in docs for w in _words(doc)) for label, docs in corpus.items()}
        self.totals = {label: sum(c.values()) for label, c in self.counts.items()}
        self.vocabulary = set().union(*self.counts.values())
        n = sum(len(docs) for docs in corpus.values())
        self.priors = {label: math.log(len(docs) / n) for label, docs in corpus.items()}

    def scores(self, text):
        v = len(self.vocabulary)
        out = {}
        for label in self.labels:
            s = self.priors[label]
            for w in _words(text):
                s += math.log((self.counts[label][w] + 1) / (self.totals[label] + v))
            out[label] = s
        return out

    def predict(self, text):
        scores = self.scores(text)
        top = max(scores.values())
        exp = {label: math.exp(s - top) for label, s in scores.items()}
        z = sum(exp.values())
        label = max(exp, key=exp.get)
        return label, exp[label] / z


MODEL = NaiveBayes(TRAINING)  # fitted once per worker process, at import


def run_classify(texts: List[str], job: conveyor.Job) -> List[dict]:
    """Classifies short texts as sports, tech or food.

    Args:
        texts: the texts to classify, in one batch.
    """
    out = []
    for i, text in enumerate(texts):
        label, confidence = MODEL.predict(text)
        out.append({"text": text, "label": label, "confidence": round(confidence, 4)})
        job.progress(100 * (i + 1) / len(texts), "classified %d of %d" % (i + 1, len(texts)))
    job.log("classified %d texts" % len(texts))
    return out
