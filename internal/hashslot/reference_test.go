package hashslot

// This file holds a deliberately naive reference implementation that the
// tests compare Of and CRC16 against. It shares no code with the package.

// refCRC16 is CRC16/XMODEM computed bit by bit: polynomial 0x1021, initial
// value 0, most significant bit first, no final XOR.
func refCRC16(buf []byte) uint16 {
	var crc uint16
	for _, b := range buf {
		crc ^= uint16(b) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// refKeyHashSlot is a literal transcription of keyHashSlot from Redis's
// src/cluster.c:
//
//	unsigned int keyHashSlot(char *key, int keylen) {
//	    int s, e; /* start-end indexes of { and } */
//
//	    for (s = 0; s < keylen; s++)
//	        if (key[s] == '{') break;
//
//	    /* No '{' ? Hash the whole key. This is the base case. */
//	    if (s == keylen) return crc16(key,keylen) & 0x3FFF;
//
//	    /* '{' found? Check if we have the corresponding '}'. */
//	    for (e = s+1; e < keylen; e++)
//	        if (key[e] == '}') break;
//
//	    /* No '}' or nothing between {} ? Hash the whole key. */
//	    if (e == keylen || e == s+1) return crc16(key,keylen) & 0x3FFF;
//
//	    /* If we are here there is both a { and a } on its right. Hash
//	     * what is in the middle between { and }. */
//	    return crc16(key+s+1,e-s-1) & 0x3FFF;
//	}
func refKeyHashSlot(key []byte) int {
	keylen := len(key)
	var s, e int

	for s = 0; s < keylen; s++ {
		if key[s] == '{' {
			break
		}
	}

	if s == keylen {
		return int(refCRC16(key[:keylen]) & 0x3FFF)
	}

	for e = s + 1; e < keylen; e++ {
		if key[e] == '}' {
			break
		}
	}

	if e == keylen || e == s+1 {
		return int(refCRC16(key[:keylen]) & 0x3FFF)
	}

	return int(refCRC16(key[s+1:e]) & 0x3FFF)
}
