// A `const fn` can run during constant evaluation, where no span can be recorded.
use honeyhive::trace;

#[trace]
const fn double(x: u32) -> u32 {
    x * 2
}

fn main() {
    let _ = double(2);
}
