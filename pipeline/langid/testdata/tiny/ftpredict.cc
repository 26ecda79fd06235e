// Developer-only driver: prints fastText predictions with full float precision.
#include "fasttext.h"
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>
int main(int argc, char** argv) {
  fasttext::FastText ft;
  ft.loadModel(argv[1]);
  int k = std::stoi(argv[2]);
  float thr = std::stof(argv[3]);
  std::string line;
  while (std::getline(std::cin, line)) {
    std::stringstream ioss(line + "\n");
    std::vector<std::pair<fasttext::real, std::string>> preds;
    ft.predictLine(ioss, preds, k, thr);
    bool first = true;
    for (auto& p : preds) {
      printf("%s%s %.9g", first ? "" : " ", p.second.c_str(), (double)p.first);
      first = false;
    }
    printf("\n");
  }
}
