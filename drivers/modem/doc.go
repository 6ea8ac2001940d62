// Package modem drives a cellular voice module (SIMCom SIM7600/SIM800
// class, Quectel EC25/EG25 class, or any 3GPP TS 27.007 module) over its
// AT port: it places and hangs up voice calls, reports their progress
// (dialling, alerting, active, ended with an outcome), refuses incoming
// calls, watches the SIM, registration and signal, and resets a module
// that stops answering by pulsing its power key.
//
// One goroutine owns the port: commands are queued and answered one at a
// time, and the unsolicited codes interleaved with their answers are read
// by the same line parser (Parse). Everything the module does arrives on
// Events. docs/modem.md lists the AT subset and what each family adds.
package modem
