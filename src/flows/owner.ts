// Replica pods aggregate by their owner: Kubernetes names a ReplicaSet's pods
// `<deployment>-<template hash>-<5 random>` and a bare ReplicaSet's or DaemonSet's
// `<owner>-<5 random>`, the random parts drawn from the alphabet below; such a pod's owner is
// written `<owner>-*`, as Calico's aggregated flow logs do. Other names stay as they are.
const RANDOM = "[bcdfghjklmnpqrstvwxz2456789]";
const REPLICA_NAME = new RegExp(`^(.+?)(?:-${RANDOM}{6,10})?-${RANDOM}{5}$`);

export function ownerName(podName: string): string {
  const m = REPLICA_NAME.exec(podName);
  return m ? `${m[1]}-*` : podName;
}
