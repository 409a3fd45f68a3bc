/**
 * Bidi embeddings, overrides and isolates. A name can hold them, an auto-tracked watch's from its server,
 * which any user of the tenant names: invisible, one left open makes what follows it on the line show
 * reordered (a digest line's ids and reason, a table row's state), and an override makes the name itself
 * read as another (`\u202Edeliaf` as "failed"). The marks (LRM, RLM) reorder nothing past their neighbours.
 */
export const BIDI_CONTROLS = /[\u202A-\u202E\u2066-\u2069]/g;
