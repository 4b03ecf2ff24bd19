#include <iostream>
int main() { std::cout << "herald\n"; }
