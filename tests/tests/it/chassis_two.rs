//! Two chassis, each in its own network namespace with its own ovs-vswitchd and ovn-controller,
//! joined by Geneve: pods on different nodes reach each other.
