//! kube-ovn-daemon and the `kube-ovn` CNI plugin end to end on a real data plane.
