// Uses the installed playaug package: generate a synthetic dataset, summarise it, round
// trip it through the CSV format, and summarise a file given on the command line.

#include <playaug/io.hpp>
#include <playaug/resources.hpp>
#include <playaug/summary.hpp>
#include <playaug/synth.hpp>
#include <playaug/version.hpp>

#include <cstdio>
#include <exception>

int main(int argc, char** argv) {
  try {
    const playaug::resources res(playaug::backend::cpu);
    playaug::synth_params params;
    params.playlists = 50;
    params.seed = 1;
    const playaug::dataset ds = playaug::synthesize(res, params);
    const playaug::dataset back = playaug::parse_csv(playaug::to_csv(ds), "round-trip");
    if (!(back.features == ds.features) || back.ids != ds.ids || back.moods != ds.moods) {
      std::fprintf(stderr, "consumer: the CSV round trip changed the dataset\n");
      return 1;
    }
    const playaug::dataset_summary s = playaug::summarize(ds);
    std::printf("playaug %s: %llu playlists, %llu songs, %zu features\n", PLAYAUG_VERSION_STRING,
                static_cast<unsigned long long>(s.playlists), static_cast<unsigned long long>(s.songs), s.dim);
    if (argc > 1) {
      const playaug::dataset_summary f = playaug::summarize_csv(argv[1]);
      std::printf("%s: %llu playlists, %llu songs\n", argv[1], static_cast<unsigned long long>(f.playlists),
                  static_cast<unsigned long long>(f.songs));
    }
    std::printf("consumer: ok\n");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "consumer: %s\n", e.what());
    return 1;
  }
}
