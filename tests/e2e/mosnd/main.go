// Command mosnd is a MOSN built from the Go module proxy for protodsl's end-to-end tests:
// MOSN's own start sequence (cmd/mosn/main in mosn.io/mosn), the xprotocol codecs a stock
// MOSN registers, and the wasmer engine that runs protocol plugins.
package main

import (
	"os"

	"github.com/urfave/cli"
	"mosn.io/api"
	"mosn.io/mosn/pkg/configmanager"
	"mosn.io/mosn/pkg/log"
	"mosn.io/mosn/pkg/mosn"
	"mosn.io/mosn/pkg/protocol/xprotocol"
	"mosn.io/mosn/pkg/protocol/xprotocol/bolt"
	"mosn.io/mosn/pkg/protocol/xprotocol/boltv2"
	"mosn.io/mosn/pkg/protocol/xprotocol/dubbo"
	"mosn.io/mosn/pkg/protocol/xprotocol/dubbothrift"
	"mosn.io/mosn/pkg/protocol/xprotocol/tars"
	"mosn.io/mosn/pkg/stagemanager"
	xstream "mosn.io/mosn/pkg/stream/xprotocol"

	_ "mosn.io/mosn/pkg/filter/network/proxy"
	_ "mosn.io/mosn/pkg/network"
	_ "mosn.io/mosn/pkg/protocol"
	_ "mosn.io/mosn/pkg/protocol/xprotocol/wasm"
	_ "mosn.io/mosn/pkg/router"
	_ "mosn.io/mosn/pkg/server"
	_ "mosn.io/mosn/pkg/server/keeper"
	_ "mosn.io/mosn/pkg/wasm/abi/proxywasm010"
	_ "mosn.io/mosn/pkg/wasm/runtime/wasmer"
)

func main() {
	start := cli.Command{
		Name:  "start",
		Usage: "start mosn proxy",
		Flags: []cli.Flag{
			cli.StringFlag{Name: "config, c", Usage: "load configuration from `FILE`", Value: "mosn_config.json"},
			cli.StringFlag{Name: "log-level, l", Usage: "trace|debug|info|warning|error|critical"},
		},
		Action: func(c *cli.Context) error {
			app := mosn.NewMosn()
			stm := stagemanager.InitStageManager(c, c.String("config"), app)
			stm.AppendParamsParsedStage(registerCodecs)
			stm.AppendParamsParsedStage(setLogLevel)
			stm.AppendInitStage(mosn.DefaultInitStage)
			stm.AppendPreStartStage(mosn.DefaultPreStartStage)
			stm.AppendStartStage(mosn.DefaultStartStage)
			stm.RunAll()
			return nil
		},
	}
	app := cli.NewApp()
	app.Name = "mosnd"
	app.Usage = "MOSN with the wasmer engine, for protodsl's end-to-end tests"
	app.Commands = []cli.Command{start}
	_ = app.Run(os.Args)
}

// compiledIn are codecs a sibling main compiles into this one (tests/e2e/mosngo: the
// generated Go codecs), registered after the built-in ones.
var compiledIn []api.XProtocolCodec

// registerCodecs does what MOSN's own main does: the stream layer for xprotocol, and the
// built-in codecs, so that a Wasm codec whose name clashes with one is seen as in production.
func registerCodecs(_ *cli.Context) {
	xprotocol.RegisterXProtocolAction(xstream.NewConnPool, xstream.NewStreamFactory, func(api.XProtocolCodec) {})
	for _, codec := range append([]api.XProtocolCodec{
		&bolt.XCodec{}, &boltv2.XCodec{}, &dubbo.XCodec{}, &dubbothrift.XCodec{}, &tars.XCodec{},
	}, compiledIn...) {
		if err := xprotocol.RegisterXProtocolCodec(codec); err != nil {
			log.StartLogger.Fatalf("register codec %s: %v", codec.ProtocolName(), err)
		}
	}
}

func setLogLevel(c *cli.Context) {
	levels := map[string]string{"trace": "TRACE", "debug": "DEBUG", "info": "INFO",
		"warning": "WARN", "error": "ERROR", "critical": "FATAL"}
	if level, ok := levels[c.String("log-level")]; ok {
		log.GetErrorLoggerManagerInstance().SetLogLevelControl(configmanager.ParseLogLevel(level))
	}
}
