// Constants of the zip file format (APPNOTE.TXT) that the readers share.

/** Compression methods Go's archive/zip reads. */
export const STORE = 0;
export const DEFLATE = 8;

/** General-purpose flag bits. */
export const FLAG_ENCRYPTED = 0x1;
export const FLAG_DATA_DESCRIPTOR = 0x8;

export const LOCAL_HEADER_SIGNATURE = 0x04034b50;
export const LOCAL_HEADER_LEN = 30;
export const DATA_DESCRIPTOR_SIGNATURE = 0x08074b50;
/** Largest data descriptor Go reads: optional signature, CRC-32 and two sizes. */
export const DATA_DESCRIPTOR_LEN = 16;
