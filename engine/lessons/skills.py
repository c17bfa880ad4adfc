"""The skill vocabulary: every lesson carries one to four of these tags.

A skill's mastery is the mean recall probability of its lessons, so the tags
must be few and even: broad enough that each has several lessons, narrow
enough that "your weakest skill" names something to practise.  `tutor lessons
skills` prints this list; a lesson with a tag not listed here does not load.
"""

from __future__ import annotations

SKILLS: dict[str, str] = {
    "creation": "making tensors: zeros, ones, full, empty, eye, arange, linspace, *_like, from Python data",
    "dtypes": "element types and casting: int64, float32, bool, promotion, .to(dtype)",
    "random": "random tensors and seeds: rand, randn, randint, normal, generators, manual_seed",
    "indexing": "slicing, negative indices, boolean masks, fancy indexing, gather and scatter",
    "reshaping": "view, reshape, permute, transpose, squeeze, unsqueeze, flatten, contiguity",
    "broadcasting": "how shapes line up in elementwise operations, expand, pairwise tables",
    "reductions": "sum, mean, max, argmax, norms and friends along a dim, keepdim",
    "linear-algebra": "matmul, einsum, solve, decompositions, vector and matrix norms",
    "numerical-stability": "log-sum-exp, stable sigmoid and softmax, clamping, float64 where it matters",
    "autograd": "requires_grad, backward, .grad, the graph, gradient accumulation",
    "no-grad": "torch.no_grad, detach, inference without a graph, stop-gradient",
    "higher-order": "autograd.grad, create_graph, second derivatives, Hessians, Jacobians",
    "distributions": "torch.distributions: sampling, log_prob, batch and sample shapes",
    "data-loading": "Dataset, DataLoader, TensorDataset, splits, batching, shuffling",
    "synthetic-data": "generating datasets: blobs, moons, circles, regression sets",
    "modules": "nn.Module subclasses, parameters, buffers, state_dict, Sequential, ModuleList",
    "layers": "Linear, activations, dropout, embeddings and other building blocks",
    "convolution": "Conv1d/2d/3d, pooling, output sizes, CNNs",
    "normalisation": "BatchNorm, LayerNorm, GroupNorm, InstanceNorm, train and eval behaviour",
    "sequences": "RNN, LSTM, GRU, padding and packing, sequence batches",
    "attention": "attention, masks, positional encodings, transformer blocks",
    "losses": "loss functions: MSE, cross-entropy, BCE with logits, reductions, custom losses",
    "optimizers": "SGD, Adam and others, steps, parameter groups, learning-rate schedules",
    "training-loop": "the loop: forward, loss, zero_grad, backward, step; train and eval modes",
    "regularisation": "weight decay, dropout, early stopping, gradient clipping, augmentation",
    "evaluation": "metrics, validation, accuracy, fair experiments and reporting",
    "from-scratch": "building the machinery by hand: backprop, an autograd engine, layers without nn",
    "performance": "devices, GPU use, timing, vectorisation, mixed precision",
    "checkpoints": "saving and loading models and optimizers, resuming training",
}

MOST_PER_LESSON = 4
