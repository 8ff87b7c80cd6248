//! The `cordon` operator CLI as a library, so the workspace tests drive exactly what
//! operators run: the local stack (engine + task handlers + EventBridge rules against moto),
//! the attacker simulation, and the demo.
pub mod demo;
pub mod local;
pub mod release;
pub mod simulate;
