//! The `cordon` operator CLI as a library, so the workspace tests drive exactly what
//! operators run: the commands (`commands/`, one module each; `main.rs` only parses and
//! dispatches), how they find a stack ([`stack`]) and say what went wrong ([`errors`]),
//! how they print ([`output`]), the local stack (engine + task handlers + EventBridge
//! rules against moto), the attacker simulation, and the demo.
pub mod commands;
pub mod demo;
pub mod errors;
pub mod local;
pub mod output;
pub mod simulate;
pub mod stack;
