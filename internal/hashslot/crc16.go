package hashslot

// crc16Table holds the CRC16 of every byte value for the polynomial 0x1021,
// so CRC16 can process a byte per table lookup.
var crc16Table = makeCRC16Table()

func makeCRC16Table() (t [256]uint16) {
	for i := range t {
		crc := uint16(i) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
		t[i] = crc
	}
	return t
}

// CRC16 returns the CRC16 of data as Redis Cluster computes it: the XMODEM
// variant (polynomial 0x1021, initial value 0, no reflection, no final XOR).
// CRC16("123456789") is 0x31C3.
func CRC16(data string) uint16 {
	var crc uint16
	for i := 0; i < len(data); i++ {
		crc = crc<<8 ^ crc16Table[byte(crc>>8)^data[i]]
	}
	return crc
}
