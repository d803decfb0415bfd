// The effect-websocket codec module: masking and raw DEFLATE (RFC 1951).
export { mask } from "./mask"
export { io, IO_CAP, outDesc } from "./io"
export { heapTop } from "./mem"
export { infNew, infFree, infInput, infRun, infContinue } from "./inflate"
export { defNew, defFree, defBegin, defPrepare, defIn, defRun, outPtr } from "./deflate"
