//! The global allocator of the `inkan` binary.
//!
//! mimalloc instead of glibc malloc: under load, allocation was about a
//! tenth of the CPU of a token request with glibc (perf), and glibc grows
//! its mmap threshold after the first argon2 buffer is freed, so a burst of
//! password logins kept hundreds of MiB resident (docs/benchmarks.md).
//!
//! mimalloc's defaults keep freed memory committed for a while and commit
//! arena memory eagerly, which left an idle server at ~44 MiB resident
//! instead of ~18 MiB; [`tune`] turns both off, at no measurable CPU cost
//! per request (docs/benchmarks.md).

/// The allocator; the binary declares it as its `#[global_allocator]`.
pub use mimalloc::MiMalloc as Allocator;

/// Option numbers of `mi_option_e` in the mimalloc v3 header bundled with
/// libmimalloc-sys 0.1.49 (`c_src/mimalloc/v3/include/mimalloc.h`); the
/// dependency is pinned to that exact version.
const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Commit arena memory on demand and give freed pages back at once. Call it
/// first thing in `main`, before any thread is started (mimalloc's option
/// setter is not thread-safe).
pub fn tune() {
    // SAFETY: `mi_option_set` only stores an integer in mimalloc's option
    // table; both option numbers exist in the pinned header, and `main`
    // calls this before spawning threads.
    #[allow(unsafe_code)]
    unsafe {
        libmimalloc_sys::mi_option_set(ARENA_EAGER_COMMIT, 0);
        libmimalloc_sys::mi_option_set(PURGE_DELAY, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_options_are_the_ones_we_mean_to_set() {
        tune();
        // SAFETY: reads an option value; no other thread sets options.
        #[allow(unsafe_code)]
        let (eager, delay) = unsafe {
            (
                libmimalloc_sys::mi_option_get(ARENA_EAGER_COMMIT),
                libmimalloc_sys::mi_option_get(PURGE_DELAY),
            )
        };
        assert_eq!((eager, delay), (0, 0));
        // A neighbour keeps its documented default (show_errors = 0 is
        // index 0; verbose = 2 is off by default), so the numbering is
        // not shifted.
        #[allow(unsafe_code)]
        let verbose = unsafe { libmimalloc_sys::mi_option_get(2) };
        assert_eq!(verbose, 0);
    }
}
