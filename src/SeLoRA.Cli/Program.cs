using SeLoRA.Cli;
using Spectre.Console;

var console = AnsiConsole.Console;
// Piped output goes to files and CI logs: never wrap it at a guessed 80 columns.
if (Console.IsOutputRedirected) console.Profile.Width = 4096;
return SeloraCommandLine.Build(console).Parse(args).Invoke();
