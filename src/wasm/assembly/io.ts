import { reserve } from "./mem"

/** Bytes of new input the caller may place in the I/O region per call. */
export const IO_CAP: u32 = 65536

/**
 * The shared I/O region: masking works here, the inflater reads its input
 * here (after up to 512 carried-over bytes). Calls are synchronous, so one
 * region serves every connection.
 */
export const io: usize = reserve(IO_CAP + 1024)

/** Where an inflater call describes the output it left for the caller: [ptr, len]. */
export const outDesc: usize = reserve(16)
