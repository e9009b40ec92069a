"""Wrap your own PyG model and optimizer with DST-EE in a few lines.

A user-defined link predictor (GCN encoder + MLP decoder on concatenated pairs) on the embedded
synthetic temporal graph; only the decoder's Linear layers are sparsified (90%). Run:

    python examples/dst_ee_custom_gnn.py [EPOCHS]    # 10 epochs by default
"""
import sys

import torch
import torch.nn.functional as F
from torch_geometric.nn import GCNConv

from gnn_sparse import DSTEE
from gnn_sparse.data import load_dataset
from gnn_sparse.training import evaluate


class MyLinkModel(torch.nn.Module):
    def __init__(self, num_nodes, dim=32):
        super().__init__()
        self.emb = torch.nn.Embedding(num_nodes, dim)
        torch.nn.init.normal_(self.emb.weight, std=8.0)  # a larger start escapes the ln 2 plateau sooner
        self.conv1, self.conv2 = GCNConv(dim, dim), GCNConv(dim, 8)
        self.decoder = torch.nn.Sequential(torch.nn.Linear(16, 64), torch.nn.ReLU(), torch.nn.Linear(64, 1))

    def encode(self, edge_index):
        return self.conv2(self.conv1(self.emb.weight, edge_index).relu(), edge_index)

    def decode(self, z, pairs):
        return self.decoder(torch.cat([z[pairs[0]], z[pairs[1]]], dim=-1)).squeeze(-1)

    def forward(self, edge_index, pairs):
        return self.decode(self.encode(edge_index), pairs)


torch.manual_seed(0)
ds = load_dataset("synthetic", num_nodes=300, num_events=6000)
model = MyLinkModel(ds.num_nodes)
epochs, batch = int(sys.argv[1]) if len(sys.argv) > 1 else 10, 256
steps = epochs * -(-ds.train.edge_label.numel() // batch)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
# The DST-EE part: one constructor call and one .step() after every optimizer.step().
sparsifier = DSTEE(model, optimizer, sparsity=0.9, params=["decoder.*.weight"], update_interval=20,
                   end_step=int(0.75 * steps), c=1e-2, eps=1.0, seed=0)

graph = ds.train.edge_index
for epoch in range(epochs):
    pairs, labels = ds.resample_train_negatives(epoch)
    model.train()
    for idx in torch.randperm(labels.numel()).split(batch):
        optimizer.zero_grad()
        F.binary_cross_entropy_with_logits(model(graph, pairs[:, idx]), labels[idx]).backward()
        optimizer.step()
        sparsifier.step()
    val = evaluate(model, graph, ds.val.edge_label_index, ds.val.edge_label)
    print(f"epoch {epoch + 1}: val acc {val['accuracy']:.2f}%  R={sparsifier.exploration_rate():.3f}")

test = evaluate(model, ds.test.edge_index, ds.test.edge_label_index, ds.test.edge_label)
print(f"test acc {test['accuracy']:.2f}%  AUC {test['auc']:.4f}")
for name, row in sparsifier.sparsity_report().items():
    print(f"{name}: {row['active']}/{row['numel']} active, sparsity {row['sparsity']:.4f}")
