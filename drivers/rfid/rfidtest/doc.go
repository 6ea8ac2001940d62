// Package rfidtest emulates serial RFID readers for tests, the booth
// simulator and technicians: the real driver runs against them.
//
// Emulator speaks the passive protocols (RDM6300, ID-12LA, ASCII lines) on
// a pseudo-terminal; PN532 answers the PN532 HSU protocol on any
// io.ReadWriter, such as a pty master.
package rfidtest
