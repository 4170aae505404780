//! The core's log (the `log` facade) on the runtime's console, and panics reported there
//! with their message and location; both installed once when the module starts.

use log::{Level, LevelFilter, Metadata, Record};
use worker::event;

struct Console;

impl log::Log for Console {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= Level::Info
    }

    fn log(&self, record: &Record<'_>) {
        match record.level() {
            Level::Error => worker::console_error!("{}", record.args()),
            Level::Warn => worker::console_warn!("{}", record.args()),
            _ => worker::console_log!("{}", record.args()),
        }
    }

    fn flush(&self) {}
}

static CONSOLE: Console = Console;

#[event(start)]
fn start() {
    console_error_panic_hook::set_once();
    if log::set_logger(&CONSOLE).is_ok() {
        log::set_max_level(LevelFilter::Info);
    }
}
