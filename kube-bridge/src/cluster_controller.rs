//! Cluster mode: API watches feed one work queue; each pass converges NB through the same
//! translation as manifest mode, then writes annotations, statuses, IP resources and Events back.
